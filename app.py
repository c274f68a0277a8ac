"""Entry point: page configuration and navigation only. Run with ``streamlit run app.py``."""

import streamlit as st

from gmm_app.routing import PAGE_CONFIG, pages

st.set_page_config(**PAGE_CONFIG)

# TRAP: a folder named ``pages/`` beside this script makes Streamlit start in its old
# pages-directory mode until the first st.navigation call. A deep link (e.g. /em-2d)
# opened first on a fresh server then runs the page file without this script: narrow
# layout and a sidebar listing the raw files. Two things fix it together: each page
# file is named after its url_path (both modes then resolve the same page), and each
# page first calls gmm_app.routing.ensure_app_navigation(), which applies this
# script's config and navigation (see that module). client.showSidebarNavigation
# would only hide the symptom.
st.navigation(pages(), position="sidebar").run()
