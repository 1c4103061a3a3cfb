SELECT
  *
FROM "t" AS "t0"
WHERE
  "t0"."amount" >= 1.5
