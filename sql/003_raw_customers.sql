-- raw_customers: one row per customer_id (loyalty-card holders); may lack profile fields.
create table raw_customers (
    customer_id integer,
    age_band varchar,
    household_size integer,
    loyalty_tier varchar,
    region varchar,
    home_store_id integer,
    price_sensitivity varchar,
    preferred_categories varchar[],
    signup_date date,
);
