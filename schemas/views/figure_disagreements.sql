-- Pairs of project figures that disagree: the same measure for the same project, or for two project
-- records linked as the same project (confirmed or probable), with a different amount or wording
-- (qualifier). Jobs whose phase a source does not state (metric "jobs") are compared with jobs in
-- operation, since headline job counts usually mean permanent jobs. Money is compared only within one
-- currency, other figures only within one unit. Each pair appears once.
-- Announcements too: two reports of the same claim (same_claim_as) whose count or total (same currency)
-- differ in amount or wording are a pair, with the announcements in announcement_id_a/_b (project_id_a/_b
-- empty) and measure announced_count or announced_total.
-- Columns:
--   measure (Measure): What is measured (jobs without a stated phase are compared with jobs in operation).
--     [values: projects_figures.metric]
--   link (How the records are linked): How the two records are linked: same record, confirmed or probable same project,
--     or same claim.
--   project_id_a (First project): The first figure's project.
--   metric_a (First metric): The first figure's metric as its source gives it. [values: projects_figures.metric]
--   amount_a (First amount): The first figure, in whole units. [currency: unit_a]
--   qualifier_a (First wording): How the first figure is worded. [values: projects_figures.qualifier]
--   unit_a (First currency or unit): The first figure's currency or unit. [values: projects_figures.unit]
--   source_id_a (First source): The source of the first figure.
--   locator_a (Where in the first source): Where in that source.
--   project_id_b (Second project): The second figure's project.
--   metric_b (Second metric): The second figure's metric as its source gives it. [values: projects_figures.metric]
--   amount_b (Second amount): The second figure, in whole units. [currency: unit_b]
--   qualifier_b (Second wording): How the second figure is worded. [values: projects_figures.qualifier]
--   unit_b (Second currency or unit): The second figure's currency or unit. [values: projects_figures.unit]
--   source_id_b (Second source): The source of the second figure.
--   locator_b (Where in the second source): Where in that source.
--   difference (Difference): The second amount minus the first. [currency: unit_a]
--   announcement_id_a (First announcement): For a pair of announcements, the first announcement (project_id_a is then
--     empty).
--   announcement_id_b (Second announcement): For a pair of announcements, the second announcement.
WITH same AS (
  SELECT id AS a, id AS b, 'same record' AS link FROM projects
  UNION
  SELECT project_id, related_project_id, confidence || ' same project' FROM projects_relations
  WHERE relation = 'same_project' AND confidence IN ('confirmed', 'probable')
  UNION
  SELECT related_project_id, project_id, confidence || ' same project' FROM projects_relations
  WHERE relation = 'same_project' AND confidence IN ('confirmed', 'probable')
),
f AS (
  SELECT *, CASE metric WHEN 'jobs' THEN 'jobs_operation' ELSE metric END AS measure
  FROM projects_figures
)
SELECT
  f1.measure AS measure,
  s.link AS link,
  f1.project_id AS project_id_a,
  f1.metric AS metric_a,
  f1.amount AS amount_a,
  f1.qualifier AS qualifier_a,
  COALESCE(f1.currency, f1.unit) AS unit_a,
  f1.source_id AS source_id_a,
  f1.locator AS locator_a,
  f2.project_id AS project_id_b,
  f2.metric AS metric_b,
  f2.amount AS amount_b,
  f2.qualifier AS qualifier_b,
  COALESCE(f2.currency, f2.unit) AS unit_b,
  f2.source_id AS source_id_b,
  f2.locator AS locator_b,
  f2.amount - f1.amount AS difference,
  NULL AS announcement_id_a,
  NULL AS announcement_id_b
FROM f AS f1
JOIN same AS s ON s.a = f1.project_id
JOIN f AS f2 ON f2.project_id = s.b AND f2.measure = f1.measure
  AND COALESCE(f2.currency, '') = COALESCE(f1.currency, '')
  AND COALESCE(f2.unit, '') = COALESCE(f1.unit, '')
WHERE (f1.project_id < f2.project_id OR (f1.project_id = f2.project_id AND f1.position < f2.position))
  AND (f1.amount <> f2.amount OR f1.qualifier <> f2.qualifier)
UNION ALL
SELECT * FROM (
  SELECT
    m.measure, 'same claim', NULL, m1.metric, m1.amount, m1.qualifier, m1.unit, m1.source_id, m1.locator,
    NULL, m2.metric, m2.amount, m2.qualifier, m2.unit, m2.source_id, m2.locator, m2.amount - m1.amount,
    m1.announcement_id, m2.announcement_id
  FROM (SELECT 'announced_count' AS measure UNION ALL SELECT 'announced_total') AS m
  JOIN (
    SELECT id AS announcement_id, COALESCE(same_claim_as, id) AS claim_id, 'count' AS metric, count AS amount,
      COALESCE(count_qualifier, 'exact') AS qualifier, 'count' AS unit, source_id, locator, 'announced_count' AS measure
    FROM announcements WHERE count IS NOT NULL
    UNION ALL
    SELECT id, COALESCE(same_claim_as, id), 'total', total, COALESCE(total_qualifier, 'exact'), currency, source_id,
      locator, 'announced_total'
    FROM announcements WHERE total IS NOT NULL
  ) AS m1 ON m1.measure = m.measure
  JOIN (
    SELECT id AS announcement_id, COALESCE(same_claim_as, id) AS claim_id, 'count' AS metric, count AS amount,
      COALESCE(count_qualifier, 'exact') AS qualifier, 'count' AS unit, source_id, locator, 'announced_count' AS measure
    FROM announcements WHERE count IS NOT NULL
    UNION ALL
    SELECT id, COALESCE(same_claim_as, id), 'total', total, COALESCE(total_qualifier, 'exact'), currency, source_id,
      locator, 'announced_total'
    FROM announcements WHERE total IS NOT NULL
  ) AS m2 ON m2.measure = m1.measure AND m2.claim_id = m1.claim_id AND m2.unit = m1.unit
    AND m1.announcement_id < m2.announcement_id
  WHERE m1.amount <> m2.amount OR m1.qualifier <> m2.qualifier
)
ORDER BY 3, 10, 18, 19, 1
