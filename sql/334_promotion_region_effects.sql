-- promotion_region_effects: one row per promo_id, region: promotion_store_effects summed over
-- the region's stores, so that promotion-level views do not add up every store each time.
-- *_var are variances (the stores' squared standard errors added up).
-- materialize: order by promo_id, region
create or replace view promotion_region_effects as
with
effects as (
    select * from promotion_store_effects
),

aggregated as (
    select
        promo_id,
        region,
        any_value(product_id) as product_id,
        any_value(product_name) as product_name,
        any_value(category) as category,
        any_value(subcategory) as subcategory,
        any_value(start_date) as start_date,
        any_value(end_date) as end_date,
        any_value(promo_type) as promo_type,
        any_value(is_national) as is_national,
        any_value(discount_pct) as discount_pct,
        count(*)::bigint as store_count,
        sum(stockout_days)::bigint as stockout_days,
        sum(actual_units)::bigint as actual_units,
        sum(baseline_units)::double as baseline_units,
        sum(baseline_units_se * baseline_units_se)::double as baseline_units_var,
        sum(actual_revenue)::double as actual_revenue,
        sum(incremental_revenue)::double as incremental_revenue,
        sum(incremental_revenue_se * incremental_revenue_se)::double as incremental_revenue_var,
        sum(dip_units)::double as dip_units,
        sum(dip_units_se * dip_units_se)::double as dip_units_var,
        sum(cannibalised_units)::double as cannibalised_units,
        sum(cannibalised_units_se * cannibalised_units_se)::double as cannibalised_units_var,
        sum(net_incremental_units)::double as net_incremental_units,
        sum(net_incremental_revenue)::double as net_incremental_revenue,
        sum(net_incremental_revenue_se * net_incremental_revenue_se)::double
            as net_incremental_revenue_var,
    from effects
    group by promo_id, region
),

final as (
    select * from aggregated
)

select * from final
