-- daily_store_sales: one row per date, store_id. Pre-aggregated so store and region charts
-- never scan daily_sales.
-- materialize: order by store_id, date
create or replace view daily_store_sales as
with
sales as (
    select * from daily_sales
),

stores as (
    select store_id, region from stores
),

aggregated as (
    select
        sales.date,
        sales.store_id,
        stores.region,
        sum(sales.units_sold)::bigint as units_sold,
        sum(sales.revenue)::double as revenue,
        sum(case when sales.is_promo then sales.revenue else 0 end)::double as promo_revenue,
        count(*)::bigint as series_count,
        count(*) filter (where sales.is_stockout)::bigint as stockout_count,
    from sales
    inner join stores on stores.store_id = sales.store_id
    group by sales.date, sales.store_id, stores.region
),

final as (
    select * from aggregated
)

select * from final
