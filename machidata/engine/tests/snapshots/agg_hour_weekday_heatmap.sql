SELECT
  "t1"."__g0" AS "at（時）",
  CASE "t1"."__g1"
    WHEN 0
    THEN '月'
    WHEN 1
    THEN '火'
    WHEN 2
    THEN '水'
    WHEN 3
    THEN '木'
    WHEN 4
    THEN '金'
    WHEN 5
    THEN '土'
    WHEN 6
    THEN '日'
    ELSE NULL
  END AS "at（曜日）",
  "t1"."__m0" AS "件数"
FROM (
  SELECT
    EXTRACT(hour FROM "t0"."at") AS "__g0",
    (
      DAYOFWEEK("t0"."at") + 6
    ) % 7 AS "__g1",
    COUNT(*) AS "__m0"
  FROM "t" AS "t0"
  GROUP BY
    1,
    2
) AS "t1"
ORDER BY
  "t1"."__g1" DESC,
  "t1"."__g0" ASC
