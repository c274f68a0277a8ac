"""gmm_app: the user-interface layer of the GMM explainer.

Everything the Streamlit pages need that is not mathematics and not a page:

* :mod:`gmm_app.state` - the only module that reads or writes ``st.session_state``
  (the :class:`~gmm_app.state.Settings` dataclass, its query-string round trip,
  and the uploaded data set).
* :mod:`gmm_app.figures` - pure Plotly figure and table builders (no ``st.*``).
* :mod:`gmm_app.geometry` - ellipse, grid and histogram arrays for the figures.
* :mod:`gmm_app.formatting` - numbers and sentences for people (never ``nan``).
* :mod:`gmm_app.cursor` - what each stepper button does to the half-step cursor.
* :mod:`gmm_app.data` and :mod:`gmm_app.engine` - cached data sets and EM runs.
* :mod:`gmm_app.stepper` - the shared body of the "EM in 1-D" and "EM in 2-D" pages.
* :mod:`gmm_app.routing` - the page list for ``app.py``, and the deep-link fix every
  page file calls first.

The mathematics lives in :mod:`gmm_core`; this package only calls it.
"""
