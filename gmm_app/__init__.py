"""gmm_app: the user-interface layer of the GMM explainer.

Everything the Streamlit pages need that is not mathematics and not a page:

* :mod:`gmm_app.declared` - every setting, view option and page declared once (the
  field and page tables), :class:`~gmm_app.declared.Settings` with its URL round trip,
  and the engine's frozen :class:`~gmm_app.declared.RunSpec`. Add settings and pages there.
* :mod:`gmm_app.state` - the only module that reads or writes ``st.session_state`` and
  the owner of every session key (derived from the tables), the link in the address bar,
  and the uploaded data set.
* :mod:`gmm_app.widgets` - a declared setting's widget in one call.
* :mod:`gmm_app.sharing` - "Copy link", and the link as text and as a QR code (local), drawn
  in the stepper's lazy "Share and download" panel.
* :mod:`gmm_app.lazy` - pandas and numpy imported at first use (a stepper's first page needs
  neither before its preload frame is sent).
* :mod:`gmm_app.agreement` - known labels against fitted clusters (adjusted Rand index).
* :mod:`gmm_app.figures` - pure Plotly figure and table builders (no ``st.*``).
* :mod:`gmm_app.geometry` - ellipse, grid and histogram arrays for the figures.
* :mod:`gmm_app.formatting` - numbers and sentences for people (never ``nan``).
* :mod:`gmm_app.cursor` - what each stepper button does to the half-step cursor.
* :mod:`gmm_app.data` and :mod:`gmm_app.engine` - cached data sets and EM runs.
* :mod:`gmm_app.stepper` - the shared body of the "EM in 1-D" and "EM in 2-D" pages.
* :mod:`gmm_app.routing` - the pages for ``app.py`` (from the page table), and the
  deep-link fix every page file calls first.

The mathematics lives in :mod:`gmm_core`; this package only calls it.
"""
