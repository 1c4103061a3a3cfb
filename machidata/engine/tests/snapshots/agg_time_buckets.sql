SELECT
  "t1"."__g0" AS "day（日）",
  "t1"."__g1" AS "at（週）",
  "t1"."__g2" AS "at（月）",
  "t1"."__g3" AS "day（四半期）",
  "t1"."__g4" AS "day（年）",
  "t1"."__m0" AS "合計（visits）",
  "t1"."__m1" AS "平均（amount）",
  "t1"."__m2" AS "最小（name）",
  "t1"."__m3" AS "最大（at）",
  "t1"."__m4" AS "種類数（ward）"
FROM (
  SELECT
    "t0"."day" AS "__g0",
    CAST(DATE_TRUNC('WEEK', "t0"."at") AS DATE) AS "__g1",
    CAST(DATE_TRUNC('MONTH', "t0"."at") AS DATE) AS "__g2",
    DATE_TRUNC('QUARTER', "t0"."day") AS "__g3",
    EXTRACT(year FROM "t0"."day") AS "__g4",
    SUM("t0"."visits") AS "__m0",
    AVG("t0"."amount") AS "__m1",
    MIN("t0"."name") AS "__m2",
    MAX("t0"."at") AS "__m3",
    COUNT(DISTINCT "t0"."ward") AS "__m4"
  FROM "t" AS "t0"
  GROUP BY
    1,
    2,
    3,
    4,
    5
) AS "t1"
ORDER BY
  "t1"."__g0" ASC,
  "t1"."__g1" ASC,
  "t1"."__g2" ASC,
  "t1"."__g3" ASC,
  "t1"."__g4" ASC
