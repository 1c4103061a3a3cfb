SELECT
  "t2"."__g0" AS "at（年度）",
  "t2"."__g1" AS "ward",
  "t2"."__m0" AS "件数"
FROM (
  SELECT
    EXTRACT(year FROM "t1"."at") - CAST(EXTRACT(month FROM "t1"."at") < 4 AS INT) AS "__g0",
    "t1"."ward" AS "__g1",
    COUNT(*) AS "__m0"
  FROM (
    SELECT
      *
    FROM "t" AS "t0"
    WHERE
      "t0"."flag" = TRUE
  ) AS "t1"
  GROUP BY
    1,
    2
) AS "t2"
ORDER BY
  "t2"."__g0" ASC,
  "t2"."__g1" ASC
