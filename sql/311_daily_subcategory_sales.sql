-- daily_subcategory_sales: one row per date, store_id, subcategory (with its region and category).
-- Sales, closing stock and promotion and stockout counts of the store x product series of a
-- subcategory, so that charts of any store, region, category or subcategory never scan
-- daily_sales. stock_units is the closing stock summed over the series (units); series_count
-- counts the store x product rows of the day, stockout_count and promo_count those out of stock
-- and on promotion.
-- materialize: order by date, store_id, subcategory
create or replace view daily_subcategory_sales as
with
sales as (
    select * from daily_sales
),

stores as (
    select store_id, region from stores
),

products as (
    select product_id, category, subcategory from products
),

aggregated as (
    select
        sales.date,
        sales.store_id,
        stores.region,
        products.category,
        products.subcategory,
        sum(sales.units_sold)::bigint as units_sold,
        sum(sales.revenue)::double as revenue,
        sum(sales.stock_end)::bigint as stock_units,
        count(*)::bigint as series_count,
        count(*) filter (where sales.is_stockout)::bigint as stockout_count,
        count(*) filter (where sales.is_promo)::bigint as promo_count,
    from sales
    inner join stores on stores.store_id = sales.store_id
    inner join products on products.product_id = sales.product_id
    group by
        sales.date, sales.store_id, stores.region, products.category, products.subcategory
),

final as (
    select * from aggregated
)

select * from final
