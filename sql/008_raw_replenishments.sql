-- raw_replenishments: one row per order_id placed by a store with its supplier.
create table raw_replenishments (
    order_id bigint,
    store_id integer,
    product_id integer,
    order_date date,
    expected_date date,
    delivered_date date,
    ordered_units integer,
    delivered_units integer,
    status varchar,
);
