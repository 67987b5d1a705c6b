"""Which products of the table (checks/data/products.yaml) a Windows host shows: a pure reading of
the win_services facts (services and Uninstall-key programs) against each row's windows_services,
windows_programs and windows_active columns. The checks that judge from it are wired elsewhere."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from checks.monitoring import Product
from scanner.facts.windows_services import InstalledProgram, WindowsService, WindowsServices


@dataclass(frozen=True)
class WindowsProductState:
    product: Product
    services: tuple[WindowsService, ...] = ()  # the host's services named in windows_services
    programs: tuple[InstalledProgram, ...] = ()  # the host's programs matching windows_programs
    # whether each list was read whole: False means "not seen" is no evidence of absence
    services_known: bool = False
    programs_known: bool = False

    @property
    def installed(self) -> bool:
        return bool(self.services or self.programs)

    def active(self) -> tuple[WindowsService, ...]:
        """The matched services that mean "protecting" and run now."""
        wanted = self.product.windows_active
        names = None if wanted is None else {n.casefold() for n in wanted}
        return tuple(s for s in self.services if s.state == "running"
                     and (names is None or s.name.casefold() in names))

    @property
    def running(self) -> bool:
        return bool(self.active())

    @property
    def known(self) -> bool:
        """Both lists were read whole, so a product not installed is absent, not unseen."""
        return self.services_known and self.programs_known

    def evidence(self) -> dict:
        return {"product": self.product.name,
                "services": [f"{s.name} ({s.state}{f', pid {s.pid}' if s.pid else ''})" for s in self.services[:10]],
                "programs": [f"{p.name} {p.version}" if p.version else p.name for p in self.programs[:10]],
                "source": self.product.source}


def _complete(status: str, capped: bool) -> bool:
    # "empty" is no claim either: nothing printed may be a read that failed silently
    return status == "ok" and not capped


def windows_product_states(table_products: Iterable[Product], services_fact: WindowsServices
                           ) -> list[WindowsProductState]:
    """One state per product that has a Windows column (pure). A service matches by its name
    (case-insensitive, exact), a program by its DisplayName against the row's globs
    (case-insensitive); a list that was not read whole (error, cut, capped) matches what it holds
    and says so in services_known / programs_known."""
    services_known = _complete(services_fact.status, services_fact.services_capped)
    programs_known = _complete(services_fact.programs_status, services_fact.programs_capped)
    by_name: dict[str, list[WindowsService]] = {}
    for service in services_fact.services:
        by_name.setdefault(service.name.casefold(), []).append(service)
    states = []
    for product in table_products:
        if not (product.windows_services or product.windows_programs):
            continue
        services = tuple(s for name in dict.fromkeys(n.casefold() for n in product.windows_services)
                         for s in by_name.get(name, ()))
        globs = [g.casefold() for g in product.windows_programs]
        programs = tuple(p for p in services_fact.programs if any(fnmatchcase(p.name.casefold(), g) for g in globs))
        states.append(WindowsProductState(product=product, services=services, programs=programs,
                                          services_known=services_known, programs_known=programs_known))
    return states
