SELECT
  "t1"."__m0" AS "件数",
  "t1"."__m1" AS "件数（name）"
FROM (
  SELECT
    COUNT(*) AS "__m0",
    COUNT("t0"."name") AS "__m1"
  FROM "t" AS "t0"
) AS "t1"
