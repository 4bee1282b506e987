-- daily_product_activity: one row per date, product_id, region.
-- One product's units sold summed over the stores of a region, with the number of stores
-- selling it and how many of them had it on promotion or out of stock that day, and the day's
-- calendar flags. A view over the stored daily_product_sales (kept in category, subcategory,
-- product, region, date order), so no second scan of daily_sales.
create or replace view daily_product_activity as
with
products as (
    select * from daily_product_sales
),

calendar as (
    select * from daily_calendar_flags
),

final as (
    select
        products.date,
        products.product_id,
        products.region,
        products.category,
        products.units_sold,
        products.series_count,
        products.promo_count,
        products.stockout_count,
        coalesce(calendar.is_store_closed, false) as is_store_closed,
        calendar.holiday_name,
        calendar.eve_of,
    from products
    left join calendar on calendar.date = products.date
)

select * from final
