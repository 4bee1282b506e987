-- raw_stores: one row per store_id, as generated or imported.
create table raw_stores (
    store_id integer,
    store_name varchar,
    city varchar,
    region varchar,
    school_zone varchar,
    format varchar,
    size_sqm integer,
);
