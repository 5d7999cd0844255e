-- Pairs of project figures that disagree: the same measure for the same project, or for two project
-- records linked as the same project (confirmed or probable), with a different amount or wording
-- (qualifier). Jobs whose phase a source does not state (metric "jobs") are compared with jobs in
-- operation, since headline job counts usually mean permanent jobs. Money is compared only within one
-- currency, other figures only within one unit. Each pair appears once.
-- Columns:
--   measure: What is measured (jobs without a stated phase are compared with jobs in operation).
--   link: How the two projects are linked: same record, or confirmed or probable same project.
--   project_id_a: The first figure's project.
--   metric_a: The first figure's metric as its source gives it.
--   amount_a: The first figure, in whole units.
--   qualifier_a: How the first figure is worded.
--   unit_a: The first figure's currency or unit.
--   source_id_a: The source of the first figure.
--   locator_a: Where in that source.
--   project_id_b: The second figure's project.
--   metric_b: The second figure's metric as its source gives it.
--   amount_b: The second figure, in whole units.
--   qualifier_b: How the second figure is worded.
--   unit_b: The second figure's currency or unit.
--   source_id_b: The source of the second figure.
--   locator_b: Where in that source.
--   difference: The second amount minus the first.
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
  f2.amount - f1.amount AS difference
FROM f AS f1
JOIN same AS s ON s.a = f1.project_id
JOIN f AS f2 ON f2.project_id = s.b AND f2.measure = f1.measure
  AND COALESCE(f2.currency, '') = COALESCE(f1.currency, '')
  AND COALESCE(f2.unit, '') = COALESCE(f1.unit, '')
WHERE (f1.project_id < f2.project_id OR (f1.project_id = f2.project_id AND f1.position < f2.position))
  AND (f1.amount <> f2.amount OR f1.qualifier <> f2.qualifier)
ORDER BY f1.project_id, f1.position, f2.project_id, f2.position
