"""peakplan's Streamlit app: staffing calculator, scenario editor and simulator with named
what-ifs, comparisons of several, the capacity review, sweep results.  ``make app`` runs it (``.venv/bin/streamlit run app.py``).

A thin shell over the public functions of ``planner`` and ``sim``: the pages (``app_pages/``)
read inputs, call them and show what they return.  Bad input is shown as the command line's
message (``st.error``); anything unexpected is one line on the page and its traceback on the
console, never a traceback on the page.

As a server shared by a team: the Sweeps page opens folders of one workspace only
(``PEAKPLAN_WORKSPACE``, default ``runs/``: :mod:`app_pages.workspace`), uploads are at most
``server.maxUploadSize`` (``.streamlit/config.toml``) and are read in a child process with a
time limit (:mod:`app_pages.bounded`), and runs beyond the command line's limits are refused
before they start.
"""

import logging

import streamlit as st

from app_pages import bounded, drafts, ui

# No page icons: a Material icon as the tab's favicon is fetched from fonts.gstatic.com.
st.set_page_config(page_title="peakplan", layout="wide")
ui.keep_widget_values()
drafts.follow_address()  # unsaved edits named by the address (a reload) are restored
bounded.warm_up()  # uploads are read in a child process: have one started before the first

PAGES = [
    st.Page("app_pages/calculator.py", title="Staffing calculator", url_path="calculator",
            default=True),
    st.Page("app_pages/scenario.py", title="Scenario", url_path="scenario"),
    st.Page("app_pages/compare.py", title="Compare", url_path="compare"),
    st.Page("app_pages/review.py", title="Capacity review", url_path="review"),
    st.Page("app_pages/plan.py", title="Plan", url_path="plan"),
    st.Page("app_pages/sweeps.py", title="Sweeps and plans", url_path="sweeps"),
]

page = st.navigation(PAGES)
try:
    page.run()
except Exception as exc:  # a bug, not bad input (pages show InputError themselves)
    logging.getLogger("peakplan.app").exception("page %s failed", page.title)
    st.error(f"Something went wrong on this page ({type(exc).__name__}: {exc}). The details "
             "are in the console that runs the app.", icon=":material/bug_report:")
