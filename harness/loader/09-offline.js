//! Offline (`pack --offline`): the service worker, registered once the app has loaded, and told
//! of the files fetched before it controlled the page.
// The service worker of an app packed with --offline (MANIFEST.offline: its URL relative to this
// file), registered once the app has loaded, so that its precaching (from the browser's cache by
// then, the files being named by content) does not compete with the first load. Lazy files are
// read with synchronous requests, which no service worker sees (Chromium sends them to the
// network): each one fetched is posted to the worker with its checked bytes to cache, and at load
// the lazy files the worker holds are asked for and listed with their bytes (checked again), so
// that a page offline finds those it read before. Only on a page's thread: a worker cannot register one, and Node has none.
function offlineWorker() {
  const container = typeof window !== "undefined" && MANIFEST.offline ? navigator.serviceWorker : null;
  if (!container) return { fetched() {}, register() {}, held: async () => new Map() };
  const pending = [];
  let active = null;
  // files: [[url, bytes]] (copies: the bytes stay in Pyodide's file system)
  const post = (files) => files.length && active?.postMessage({ type: "pyodide-pack:cache", files });
  // The registration's worker once it is active (this page need not be in its scope). A worker
  // whose install failed (a file it keeps could not be fetched, or was not the file packed: a
  // deploy that missed or rewrote one) is said so on the console, since the page runs on and
  // nothing else would tell that it will not run offline; one replaced by a newer is waited past.
  const notInstalled = () => console.warn("loadBundle: the offline service worker did not install (a file it keeps " +
    "could not be fetched, or was not the file packed; the worker's console names it): this deployment will not run offline");
  const activated = (registration) => new Promise((resolve) => {
    const worker = registration.installing ?? registration.waiting;
    // (None installing and none active: it failed already.)
    if (!worker && !registration.active) notInstalled();
    if (!worker) return resolve(registration.active);
    let installed = worker.state !== "installing";
    const onChange = () => {
      if (worker.state === "installed" || worker.state === "activating") installed = true;
      if (worker.state !== "activated" && worker.state !== "redundant") return;
      worker.removeEventListener("statechange", onChange);
      if (worker.state === "redundant" && (registration.installing || registration.waiting)) {
        return resolve(activated(registration));
      }
      if (worker.state === "redundant" && !installed) notInstalled();
      resolve(registration.active);
    };
    worker.addEventListener("statechange", onChange);
  });
  return {
    fetched(url, bytes) {
      if (active) post([[url, bytes]]);
      else pending.push([url, bytes]);
    },
    register() {
      container.register(new URL(MANIFEST.offline, import.meta.url), { updateViaCache: "none" })
        .then(activated)
        .then((worker) => { active = worker; post(pending.splice(0)); })
        .catch((err) => console.warn(`loadBundle: the offline service worker did not register: ${err.message ?? err}`));
    },
    // The bytes the controlling worker holds of these URLs (url -> Uint8Array; unchecked), or
    // none after 3 s (a worker started cold reading many files).
    async held(urls) {
      const worker = container.controller;
      if (!worker || !urls.length) return new Map();
      const channel = new MessageChannel();
      const answer = new Promise((resolve) => {
        channel.port1.onmessage = ({ data }) => resolve(Array.isArray(data) ? data : []);
        setTimeout(() => {
          console.warn("loadBundle: the offline service worker did not list its lazy files in time");
          resolve([]);
        }, 3000);
      });
      worker.postMessage({ type: "pyodide-pack:held", urls }, [channel.port2]);
      return new Map(await answer);
    },
  };
}
