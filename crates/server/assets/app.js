// Entry point of the iocwatch console: session, layout and client-side
// routes. Each screen module exports a render function that fills <main>.

import { ApiError, get, del, setCsrfToken } from './api.js';
import { h, replace, toast } from './dom.js';
import { renderLogin } from './login.js';
import { renderQueue } from './queue.js';
import { renderAlert } from './alert.js';
import { renderWatchlists, renderWatchlist, renderAllowlist } from './watchlists.js';
import { renderDashboard } from './dashboard.js';
import { renderExposure } from './exposure.js';
import { renderUsers, renderTokens, renderAudit } from './admin.js';

const ROUTES = [
  { pattern: /^\/login$/, view: renderLogin, title: 'Log in', public: true },
  { pattern: /^\/$/, redirect: '/alerts' },
  { pattern: /^\/alerts$/, view: renderQueue, title: 'Alerts', nav: '/alerts' },
  { pattern: /^\/alerts\/([^/]+)$/, view: renderAlert, title: 'Alert', nav: '/alerts' },
  { pattern: /^\/dashboard$/, view: renderDashboard, title: 'Dashboard', nav: '/dashboard' },
  { pattern: /^\/watchlists$/, view: renderWatchlists, title: 'Watchlists', nav: '/watchlists' },
  { pattern: /^\/watchlists\/([^/]+)$/, view: renderWatchlist, title: 'Watchlist', nav: '/watchlists' },
  { pattern: /^\/allowlist$/, view: renderAllowlist, title: 'Allowlist', nav: '/allowlist' },
  { pattern: /^\/exposure$/, view: renderExposure, title: 'Exposure check', nav: '/exposure' },
  { pattern: /^\/admin\/users$/, view: renderUsers, title: 'Users', nav: '/admin/users' },
  { pattern: /^\/admin\/tokens$/, view: renderTokens, title: 'API tokens', nav: '/admin/tokens' },
  { pattern: /^\/admin\/audit$/, view: renderAudit, title: 'Audit trail', nav: '/admin/audit' },
];

const state = {
  session: null,
  cleanups: [],
  renderCount: 0,
};

const main = document.getElementById('main');
const topbar = document.querySelector('.topbar');

/** Goes to `url` inside the console without a reload. */
export function navigate(url, options = {}) {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

/** Changes the query string of the current route without adding history. */
export function setQuery(params) {
  const url = `${location.pathname}${params.toString() ? `?${params}` : ''}`;
  history.replaceState(null, '', url);
}

function showLayout(session) {
  topbar.hidden = !session;
  if (!session) return;
  topbar.querySelector('.user-name').textContent = `${session.user.name} (${session.user.role})`;
  for (const item of topbar.querySelectorAll('[data-role="admin"]')) {
    item.hidden = session.user.role !== 'admin';
  }
}

function markNav(navPath) {
  for (const anchor of topbar.querySelectorAll('.nav a')) {
    if (anchor.getAttribute('href') === navPath) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
}

function runCleanups() {
  for (const cleanup of state.cleanups.splice(0)) {
    try {
      cleanup();
    } catch (error) {
      console.error('cleanup failed', error);
    }
  }
}

async function render() {
  runCleanups();
  state.renderCount += 1;
  const renderId = state.renderCount;
  const path = location.pathname.replace(/\/+$/, '') || '/';

  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (route && route.redirect) {
    navigate(route.redirect, { replace: true });
    return;
  }
  if (route && !route.public && !state.session) {
    const next = encodeURIComponent(location.pathname + location.search);
    navigate(`/login?next=${next}`, { replace: true });
    return;
  }
  showLayout(route && route.public ? null : state.session);
  markNav(route ? route.nav : null);

  const context = {
    main,
    params: route ? path.match(route.pattern).slice(1).map(decodeURIComponent) : [],
    query: new URLSearchParams(location.search),
    session: state.session,
    navigate,
    setQuery,
    setTitle(title) {
      document.title = `${title} · iocwatch`;
    },
    onCleanup(fn) {
      state.cleanups.push(fn);
    },
    isCurrent() {
      return renderId === state.renderCount;
    },
    login(session) {
      state.session = session;
      setCsrfToken(session.csrf_token);
    },
  };

  if (!route) {
    context.setTitle('Not found');
    replace(main, h('h1', { text: 'Page not found' }),
      h('p', null, 'No console page has the address ', h('code', { text: path }), '. ',
        h('a', { href: '/alerts', text: 'Go to the alert queue' }), '.'));
    main.focus();
    return;
  }

  context.setTitle(route.title);
  replace(main, h('p', { class: 'loading', text: 'Loading…' }));
  try {
    await route.view(context);
  } catch (error) {
    if (!context.isCurrent()) return;
    if (error instanceof ApiError && error.status === 401) return;
    replace(main, h('h1', { text: route.title }),
      h('div', { class: 'error-box', role: 'alert', text: error.message || String(error) }));
  }
  if (context.isCurrent() && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

// Links inside the console are routed client-side; /api/ links, downloads,
// new-tab clicks and links to other origins are left to the browser.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = event.target.closest('a[href]');
  if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/assets/')) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

window.addEventListener('iocwatch:unauthorized', () => {
  if (!state.session) return;
  state.session = null;
  setCsrfToken(null);
  toast('The session has ended; log in again.');
  const next = encodeURIComponent(location.pathname + location.search);
  navigate(`/login?next=${next}`, { replace: true });
});

topbar.querySelector('.logout').addEventListener('click', async () => {
  try {
    await del('/session');
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(error.message);
  }
  state.session = null;
  setCsrfToken(null);
  navigate('/login', { replace: true });
});

async function start() {
  try {
    const session = await get('/session');
    state.session = session;
    setCsrfToken(session.csrf_token);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(error.message);
  }
  render();
}

start();
