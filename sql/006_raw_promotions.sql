-- raw_promotions: one row per promo_id; region null = every store.
create table raw_promotions (
    promo_id integer,
    product_id integer,
    region varchar,
    start_date date,
    end_date date,
    discount_pct double,
    promo_type varchar,
);
