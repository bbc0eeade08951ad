"""/machines: the plant's machines and their latest risk score."""

from __future__ import annotations

from fastapi import APIRouter

from api import plant
from api.auth import Reader
from api.routers.common import DB, ERRORS, MachinePath
from api.schemas import MachinePublic

router = APIRouter(prefix="/machines", tags=["machines"], responses=ERRORS)


@router.get("")
def list_machines(db: DB, user: Reader) -> list[MachinePublic]:
    return plant.list_machines(db)


@router.get("/{name}")
def get_machine(name: MachinePath, db: DB, user: Reader) -> MachinePublic:
    return plant.get_machine(db, name)
