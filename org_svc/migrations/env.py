from org_svc.models import Base
from services.migrations import run_env

run_env(Base.metadata)
