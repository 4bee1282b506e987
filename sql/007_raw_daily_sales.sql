-- raw_daily_sales: the sales and stock feed, defects included (duplicates, gaps, nulls, bad stock).
-- Intended grain: one row per store_id, product_id, date; stored in that order.
create table raw_daily_sales (
    date date,
    store_id integer,
    product_id integer,
    units_sold integer,
    price double,
    promo_id integer,
    stock_begin integer,
    received_units integer,
    stock_end integer,
);
