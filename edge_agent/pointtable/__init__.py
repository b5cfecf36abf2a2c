"""Point tables in, profiles out: from the integrator's spreadsheet to a device profile, and back.

The flow, one module each:

- reading a file: :mod:`.csvfile` (UTF-8, UTF-8 with BOM, GB18030), :mod:`.xlsx` (openpyxl);
  :mod:`.sheet` finds the header row by its column names;
- making entries of its rows: :mod:`.template` (the project's template, English or Chinese
  headers), :mod:`.kepware` (Kepware's CSV tag export), :mod:`.ede` (BACnet EDE files, their
  units named with :mod:`campus_core.bacnet_units`); :mod:`.formats` picks the reader;
  :mod:`.cells` reads tables, addresses, types, orders and scales; :mod:`.naming` makes field
  names with the glossary (glossary.toml) and the unit suffixes of :mod:`campus_core.suffixes`;
- validating them with the drivers' own models, and across rows: :mod:`.build`;
- writing the profile and trying it with the config loader: :mod:`.profile`, :mod:`.importer`;
- back again, a profile as the template: :mod:`.export`.
"""

from .draft import Options
from .importer import Imported, import_points
from .problems import PointTableError, TableProblem

__all__ = ["Imported", "Options", "PointTableError", "TableProblem", "import_points"]
