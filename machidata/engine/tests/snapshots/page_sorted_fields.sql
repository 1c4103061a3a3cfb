SELECT
  "t0"."id",
  "t0"."name"
FROM "t" AS "t0"
ORDER BY
  "t0"."amount" DESC,
  "t0"."id" ASC
LIMIT 50
OFFSET 100
