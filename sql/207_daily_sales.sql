-- daily_sales: one row per date, store_id, product_id, cleaned (see stg_daily_sales).
-- Public name. revenue = units_sold * price (EUR); a day is a stockout when the shelf ends empty.
create or replace view daily_sales as
with
sales as (
    select * from stg_daily_sales
),

final as (
    select
        date,
        store_id,
        product_id,
        units_sold,
        price,
        revenue,
        is_promo,
        promo_id,
        discount_pct,
        stock_begin,
        stock_end,
        received_units,
        is_stockout,
        is_corrected,
    from sales
)

select * from final
