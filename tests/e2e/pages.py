"""Helpers for the browser tests' pages (tests/e2e/conftest.py installs the fetch counter in every context)."""


# Counts the fetches a page has started and not yet finished reading (racine/lineage.js draws from one), for
# settle(); fetch() is the only way the product's pages load anything after their own load.
COUNT_FETCHES = """(() => {
  let pending = 0;
  const fetch = window.fetch;
  window.__racinePendingFetches = () => pending;
  window.fetch = function (...args) {
    // Unbound, as the page's own call may be on another object; counted only once it started (no throw).
    const started = fetch(...args);
    pending++;
    return started.then(
      (response) => {
        // Finished once the body is read: clone it so the page still reads its own.
        response.clone().arrayBuffer().then(() => pending--, () => pending--);
        return response;
      },
      (error) => { pending--; throw error; });
  };
})();"""


# Whether the page has a fetch in flight (false where the counter is not installed).
PENDING_FETCHES = "() => Boolean(window.__racinePendingFetches && window.__racinePendingFetches())"


def settle(page) -> None:
    """Wait until ``page`` has loaded and has no fetch in flight.

    Instead of Playwright's ``networkidle``, which waits for 500 ms without any request after the last one, on
    every page: about 40 waits across the browser tests, and the layout test's hundred pages."""
    page.wait_for_load_state("load")
    # Most pages have no fetch in flight by their load event: one evaluation says so. Playwright's
    # wait_for_function costs several round trips even when its condition already holds (about 0.1 s a page under
    # load, against a few ms for an evaluation), so it is only the fallback that waits.
    if page.evaluate(PENDING_FETCHES):
        page.wait_for_function(f"() => !({PENDING_FETCHES})()")

