-- daily_product_activity: one row per date, product_id, region.
-- One product's units sold summed over the stores of a region, with the number of stores
-- selling it, how many of them had it on promotion or out of stock that day, and the day's
-- calendar flags (as in daily_category_activity): a product's series without scanning daily_sales
-- across stores. Read one product at a time, so stored in that order.
-- materialize: order by product_id, region, date
create or replace view daily_product_activity as
with
sales as (
    select * from daily_sales
),

stores as (
    select store_id, region from stores
),

products as (
    select product_id, category from products
),

calendar as (
    select * from daily_calendar_flags
),

aggregated as (
    select
        sales.date,
        sales.product_id,
        stores.region,
        products.category,
        sum(sales.units_sold)::bigint as units_sold,
        count(*)::bigint as series_count,
        count(*) filter (where sales.is_promo)::bigint as promo_count,
        count(*) filter (where sales.is_stockout)::bigint as stockout_count,
    from sales
    inner join stores on stores.store_id = sales.store_id
    inner join products on products.product_id = sales.product_id
    group by sales.date, sales.product_id, stores.region, products.category
),

final as (
    select
        aggregated.*,
        coalesce(calendar.is_store_closed, false) as is_store_closed,
        calendar.holiday_name,
        calendar.eve_of,
    from aggregated
    left join calendar on calendar.date = aggregated.date
)

select * from final
