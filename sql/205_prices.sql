-- prices: one row per product_id, valid_from: the regular shelf price in EUR. Public name.
create or replace view prices as
with
prices as (
    select * from stg_prices
),

final as (
    select product_id, valid_from, valid_to, list_price as price_eur,
    from prices
)

select * from final
