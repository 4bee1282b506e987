-- stg_baskets: one row per basket_id, product_id, with the line amount in EUR.
create or replace view stg_baskets as
with
source as (
    select * from raw_baskets
),

final as (
    select
        basket_id,
        customer_id,
        store_id,
        purchased_at,
        purchased_at::date as purchase_date,
        product_id,
        quantity,
        unit_price_paid,
        round(quantity * unit_price_paid, 2) as line_amount_eur,
    from source
)

select * from final
