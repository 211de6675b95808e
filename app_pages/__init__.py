"""The pages of peakplan's Streamlit app (``app.py`` is the entry point, ``make app`` runs it).

Page scripts (run by ``st.navigation``, one per page):
``calculator.py`` (Erlang staffing), ``scenario.py`` (build a roster, need against roster and
cost, simulate, save named what-ifs), ``compare.py`` (two to five scenarios with common random
numbers), ``review.py`` (``peakplan review``), ``plan.py`` (``peakplan plan``), ``sweeps.py``
(results of ``peakplan sweep``).

Glue shared by the pages, no model logic (that lives in ``planner`` and ``sim``):
``inputs.py`` (shipped files and uploads into validated objects, errors as
:class:`~sim.errors.InputError`), ``edits.py`` (a scenario as editable tables, overflow delays
and skill windows included, and back to a scenario and key-path changes), ``drafts.py``
(unsaved edits kept in the workspace, so a reload of the browser loses nothing), ``roster.py``
(need against roster, agent-hours and cost before a simulation), ``plans.py`` (the plan made
for the open scenario's demand, whose pooled requirement the Scenario page draws),
``whatifs.py`` (named what-ifs as YAML files in the workspace), ``runs.py`` (cached staffing
tables and simulations, the paired difference of two runs, sweep folders, uploads read once),
``charts.py`` (Altair charts), ``ui.py`` (widgets and formats the pages share),
``workspace.py`` (the one folder the Sweeps page opens, ``PEAKPLAN_WORKSPACE``),
``bounded.py`` (an upload read in a child process with a time limit).
"""
