-- forecast_input: one row per store, product and date: what a demand forecast is fitted on.
-- The day's sales, price and promotion, the stock facts that tell a stockout (a censored day),
-- and the calendar's holiday and closure flags. A view over the stored daily_sales, so one
-- series reads in milliseconds (daily_sales is stored by store, product and date).
create or replace view forecast_input as
with
sales as (
    select
        store_id,
        product_id,
        date,
        units_sold,
        price,
        is_promo,
        discount_pct,
        is_stockout,
        stock_begin,
        received_units,
    from daily_sales
),

calendar as (
    select date, is_public_holiday, is_store_closed, from calendar
),

final as (
    select
        sales.*,
        calendar.is_public_holiday,
        calendar.is_store_closed,
    from sales
    inner join calendar using (date)
)

select * from final
