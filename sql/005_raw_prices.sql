-- raw_prices: one row per product_id, valid_from; regular shelf price in EUR (valid_to null = current).
create table raw_prices (
    product_id integer,
    valid_from date,
    valid_to date,
    price double,
);
