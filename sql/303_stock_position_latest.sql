-- stock_position_latest: one row per store_id, product_id, at the last date of data.
-- days_of_cover = stock on hand / average daily units of the last 28 days (null when nothing sold).
-- At risk when the stock on hand runs out before the next delivery is due: the earliest open
-- order's expected date, or, with nothing on order, an order placed today (the lead time).
-- materialize: order by store_id, product_id
create or replace view stock_position_latest as
with
sales as (
    select * from daily_sales
),

replenishments as (
    select * from replenishments
),

stores as (
    select store_id, store_name, region from stores
),

products as (
    select product_id, product_name, category, subcategory, lead_time_days from products
),

as_of as (
    select max(date) as as_of_date from sales
),

recent as (
    select
        sales.store_id,
        sales.product_id,
        sum(sales.units_sold)::double / 28 as avg_daily_units_28d,
        sum(sales.revenue)::double as revenue_28d,
    from sales
    cross join as_of
    where sales.date > as_of.as_of_date - 28
    group by sales.store_id, sales.product_id
),

latest as (
    select
        sales.store_id,
        sales.product_id,
        sales.stock_end::bigint as stock_on_hand,
        sales.price,
    from sales
    cross join as_of
    where sales.date > as_of.as_of_date - 7
    qualify row_number() over (
        partition by sales.store_id, sales.product_id order by sales.date desc
    ) = 1
),

on_order as (
    select
        replenishments.store_id,
        replenishments.product_id,
        sum(replenishments.ordered_units)::bigint as on_order_units,
        min(replenishments.expected_date) as next_delivery_date,
    from replenishments
    cross join as_of
    where replenishments.order_date <= as_of.as_of_date
        and (
            replenishments.delivered_date is null
            or replenishments.delivered_date > as_of.as_of_date
        )
    group by replenishments.store_id, replenishments.product_id
),

final as (
    select
        latest.store_id,
        stores.store_name,
        stores.region,
        latest.product_id,
        products.product_name,
        products.category,
        products.subcategory,
        as_of.as_of_date,
        latest.stock_on_hand,
        coalesce(on_order.on_order_units, 0)::bigint as on_order_units,
        coalesce(recent.avg_daily_units_28d, 0)::double as avg_daily_units_28d,
        (latest.stock_on_hand / nullif(recent.avg_daily_units_28d, 0))::double as days_of_cover,
        products.lead_time_days,
        on_order.next_delivery_date,
        coalesce(
            latest.stock_on_hand < recent.avg_daily_units_28d * greatest(
                coalesce(on_order.next_delivery_date - as_of.as_of_date, products.lead_time_days),
                1
            ),
            false
        ) as is_at_risk,
        coalesce(recent.revenue_28d, 0)::double as revenue_28d,
        latest.price,
    from latest
    cross join as_of
    inner join stores on stores.store_id = latest.store_id
    inner join products on products.product_id = latest.product_id
    left join recent
        on recent.store_id = latest.store_id and recent.product_id = latest.product_id
    left join on_order
        on on_order.store_id = latest.store_id and on_order.product_id = latest.product_id
)

select * from final
