-- daily_category_sales: one row per date, store_id, category.
-- materialize: order by category, store_id, date
create or replace view daily_category_sales as
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

aggregated as (
    select
        sales.date,
        sales.store_id,
        stores.region,
        products.category,
        sum(sales.units_sold)::bigint as units_sold,
        sum(sales.revenue)::double as revenue,
        count(*)::bigint as series_count,
        count(*) filter (where sales.is_stockout)::bigint as stockout_count,
        count(*) filter (where sales.is_promo)::bigint as promo_count,
    from sales
    inner join stores on stores.store_id = sales.store_id
    inner join products on products.product_id = sales.product_id
    group by sales.date, sales.store_id, stores.region, products.category
),

final as (
    select * from aggregated
)

select * from final
