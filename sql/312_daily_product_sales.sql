-- daily_product_sales: one row per date, region, product_id (with its category and subcategory).
-- One product's sales, closing stock and promotion and stockout counts summed over the stores
-- of a region, so that a product's chart across stores never scans daily_sales. stock_units is
-- the closing stock summed over the stores (units); series_count counts the store rows of the
-- day, stockout_count and promo_count those out of stock and on promotion.
-- materialize: order by category, subcategory, product_id, region, date
create or replace view daily_product_sales as
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
        stores.region,
        sales.product_id,
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
        sales.date, stores.region, sales.product_id, products.category, products.subcategory
),

final as (
    select * from aggregated
)

select * from final
