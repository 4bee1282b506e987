-- true_demand: one row per store_id, product_id, date. Synthetic data only, for evaluation:
-- demand_units is what shoppers wanted (sales = min(demand, stock)); expected_units the mean the
-- generator drew it around; baseline_units that mean without promotion, dip and cannibalisation.
-- No model may read this table.
create table true_demand (
    date date,
    store_id integer,
    product_id integer,
    demand_units integer,
    expected_units double,
    baseline_units double,
);
