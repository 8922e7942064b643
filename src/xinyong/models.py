"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic, tests)."""

from xinyong.accounts import models as accounts_models
from xinyong.articles import models as articles_models
from xinyong.audit import models as audit_models
from xinyong.authorizations import models as authorizations_models
from xinyong.catalog import models as catalog_models
from xinyong.commitments import models as commitments_models
from xinyong.exchange import models as exchange_models
from xinyong.lists import models as lists_models
from xinyong.measures import models as measures_models
from xinyong.notices import models as notices_models
from xinyong.objections import models as objections_models
from xinyong.queries import models as queries_models
from xinyong.records import models as records_models
from xinyong.repair import models as repair_models
from xinyong.reports import models as reports_models
from xinyong.scoring import models as scoring_models
from xinyong.subjects import models as subjects_models
from xinyong.tipoffs import models as tipoffs_models
from xinyong.workdays import models as workdays_models
from xinyong.workflows import models as workflows_models

__all__ = [
    "accounts_models",
    "articles_models",
    "audit_models",
    "authorizations_models",
    "catalog_models",
    "commitments_models",
    "exchange_models",
    "lists_models",
    "measures_models",
    "notices_models",
    "objections_models",
    "queries_models",
    "records_models",
    "repair_models",
    "reports_models",
    "scoring_models",
    "subjects_models",
    "tipoffs_models",
    "workdays_models",
    "workflows_models",
]
