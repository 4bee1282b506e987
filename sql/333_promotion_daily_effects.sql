-- promotion_daily_effects: one row per promo_id, store_id, date, from 14 days before a
-- promotion to the last of the 7 days after it: units sold (null: no data that day) against
-- the estimated baseline, with the baseline's variance (add it across stores) and a 95% band.
-- phase: 'before', 'promotion' or 'after' (the dip). The job stores the rows in this order
-- (promo_id, store_id, date), so one promotion reads a few row groups.
create or replace view promotion_daily_effects as
with
days as (
    select * from promotion_baseline_days
),

final as (
    select
        promo_id,
        store_id,
        region,
        date,
        phase,
        units_sold,
        baseline_units,
        baseline_var,
        greatest(baseline_units - 1.959963984540054 * sqrt(baseline_var), 0)::double
            as baseline_lo95,
        (baseline_units + 1.959963984540054 * sqrt(baseline_var))::double as baseline_hi95,
    from days
)

select * from final
