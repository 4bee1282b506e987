-- raw_baskets: one row per basket_id, product_id (a loyalty-card customer's purchase line).
create table raw_baskets (
    basket_id bigint,
    customer_id integer,
    store_id integer,
    purchased_at timestamp,
    product_id integer,
    quantity integer,
    unit_price_paid double,
);
