-- promotion_depth_effects: one row per category, discount_bucket_pct (discount rounded to 5
-- points), store_id: promotions' actual and baseline units and revenue summed, for uplift by
-- discount depth. Uplift = actual / baseline - 1; the baseline's variance is the sum of the
-- rows' squared standard errors (the stores' baselines are fitted independently).
-- materialize: order by category, discount_bucket_pct, store_id
create or replace view promotion_depth_effects as
with
effects as (
    select * from promotion_store_effects
),

aggregated as (
    select
        category,
        discount_bucket_pct,
        store_id,
        region,
        count(*)::bigint as promotion_count,
        sum(actual_units)::bigint as actual_units,
        sum(baseline_units)::double as baseline_units,
        sum(baseline_units_se * baseline_units_se)::double as baseline_units_var,
        sum(incremental_units)::double as incremental_units,
        sum(actual_revenue)::double as actual_revenue,
        sum(baseline_revenue)::double as baseline_revenue,
        sum(incremental_revenue)::double as incremental_revenue,
        sum(incremental_revenue_se * incremental_revenue_se)::double as incremental_revenue_var,
    from effects
    group by category, discount_bucket_pct, store_id, region
),

final as (
    select * from aggregated
)

select * from final
