"""Annex A child-level data: import the EHC plan, SEN support and providers lists, check them, write the return.

`columns` reads the partnership's mapping (child_data.yaml); `reading`, `checks` and `importer` turn
its files into checked rows or reject them with every problem; `store` keeps them (personal data,
never in Prefect); `returns` writes the inspectors' workbook and a summary of counts that names
nobody; `fiction` and `synthetic` make fictional lists for demonstrations and tests.
"""
