"""The top floor: orchestration. The command line, the engine that plans collectors and probes
from the checks' declared facts and schedules them, the preflight and the demo. It may import
every floor below (models, facts and probes, collectors, checks, reports); nothing imports it."""
