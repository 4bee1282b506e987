-- stg_prices: one row per product_id, valid_from; valid_to closed with a far date when open.
create or replace view stg_prices as
with
source as (
    select * from raw_prices
),

final as (
    select
        product_id,
        valid_from,
        coalesce(valid_to, date '9999-12-31') as valid_to,
        price as list_price,
    from source
)

select * from final
