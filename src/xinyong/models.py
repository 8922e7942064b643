"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from xinyong.accounts import models as accounts_models
from xinyong.audit import models as audit_models
from xinyong.authorizations import models as authorizations_models
from xinyong.catalog import models as catalog_models
from xinyong.lists import models as lists_models
from xinyong.measures import models as measures_models
from xinyong.notices import models as notices_models
from xinyong.queries import models as queries_models
from xinyong.records import models as records_models
from xinyong.scoring import models as scoring_models
from xinyong.subjects import models as subjects_models

__all__ = [
    "accounts_models",
    "audit_models",
    "authorizations_models",
    "catalog_models",
    "lists_models",
    "measures_models",
    "notices_models",
    "queries_models",
    "records_models",
    "scoring_models",
    "subjects_models",
]
