"""View definitions, applied in file-name order by data.build (package data: *.sql)."""
