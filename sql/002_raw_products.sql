-- raw_products: one row per product_id, as generated or imported.
create table raw_products (
    product_id integer,
    product_name varchar,
    brand varchar,
    category varchar,
    subcategory varchar,
    base_price double,
    unit_cost double,
    lead_time_days integer,
    pack_size integer,
);
