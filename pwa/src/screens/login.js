// Log in with phone + password or phone + SMS code.
import { api, saveTokens } from '../api.js';
import { h, languageSwitch } from '../dom.js';
import { t } from '../i18n.js';

const RESEND_SECONDS = 60;
// Survives re-rendering (e.g. a language switch) while the page is open.
const state = { mode: 'password', phone: '', resendAt: 0 };
let timer = null;

export function login(view, { done }) {
  view.title = t('login.title');
  const fields = {};
  const fieldErrors = {};
  const general = h('div', { 'aria-live': 'polite' });

  // label, input (with an optional button beside it), then the field's errors
  function field(name, label, attrs, addon) {
    const id = `login-${name}`;
    fieldErrors[name] = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    fields[name] = h('input', { id, name, 'aria-describedby': `${id}-error`, ...attrs });
    const control = addon ? h('div', { class: 'with-button' }, fields[name], addon) : fields[name];
    return h('div', { class: 'field' }, h('label', { for: id }, label), control, fieldErrors[name]);
  }

  function showErrors(errors = {}) {
    const rest = [];
    for (const [name, el] of Object.entries(fieldErrors)) {
      const problems = errors[name];
      el.hidden = !problems;
      el.textContent = problems ? [].concat(problems).join(' ') : '';
      fields[name].setAttribute('aria-invalid', String(Boolean(problems)));
    }
    for (const [name, problems] of Object.entries(errors)) {
      if (!(name in fieldErrors) && name !== 'token') rest.push([].concat(problems).join(' '));
    }
    return rest;
  }

  // The live region announces what is put in it: the server's message (and any
  // problems that belong to no field) or a notice.
  function showGeneral(message, extra = [], kind = 'alert') {
    general.replaceChildren();
    if (message) general.append(h('p', { class: kind }, message, extra.map((m) => h('span', { class: 'block' }, m))));
  }

  const phone = field('phone', t('login.phone'), {
    type: 'tel',
    inputmode: 'tel',
    autocomplete: 'tel',
    placeholder: t('login.phonePlaceholder'),
    value: state.phone,
    oninput: (e) => (state.phone = e.target.value),
  });
  const codeButton = h('button', { type: 'button', class: 'btn btn-secondary', onclick: requestCode });
  const secret =
    state.mode === 'password'
      ? field('password', t('login.password'), { type: 'password', autocomplete: 'current-password' })
      : field('code', t('login.code'), {
          type: 'text',
          inputmode: 'numeric',
          autocomplete: 'one-time-code',
          maxlength: '6',
          pattern: '[0-9]*',
          placeholder: t('login.codePlaceholder'),
        }, codeButton);

  const stopTimer = () => {
    clearInterval(timer);
    timer = null;
  };
  const startTimer = () => {
    stopTimer();
    timer = setInterval(tick, 1000);
  };
  function tick() {
    const left = Math.ceil((state.resendAt - Date.now()) / 1000);
    codeButton.disabled = left > 0;
    codeButton.textContent = left > 0 ? t('login.resendIn', { seconds: left }) : t('login.getCode');
    if (left <= 0) stopTimer();
  }

  async function requestCode() {
    const problems = {};
    if (!state.phone.trim()) problems.phone = t('login.phoneRequired');
    showGeneral(null, showErrors(problems));
    if (problems.phone) return fields.phone.focus();
    codeButton.disabled = true;
    try {
      const answer = await api('/auth/otp', { method: 'POST', body: { phone: state.phone.trim() }, auth: false });
      state.resendAt = Date.now() + RESEND_SECONDS * 1000;
      const minutes = Math.round(((answer && answer.expires_in) || 300) / 60);
      showGeneral(t('login.codeSent', { minutes }), [], 'notice');
      startTimer();
      fields.code.focus();
    } catch (err) {
      showGeneral(err.message, showErrors(err.errors));
    }
    tick();
  }

  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('login.submit'));

  async function onSubmit(event) {
    event.preventDefault();
    const body = { phone: state.phone.trim() };
    const problems = {};
    if (!body.phone) problems.phone = t('login.phoneRequired');
    if (state.mode === 'password') {
      body.password = fields.password.value;
      if (!body.password) problems.password = t('login.passwordRequired');
    } else {
      body.code = fields.code.value.trim();
      if (!body.code) problems.code = t('login.codeRequired');
      else if (!/^\d{6}$/.test(body.code)) problems.code = t('login.codeFormat');
    }
    showGeneral(null, showErrors(problems));
    const first = Object.keys(problems)[0];
    if (first) return fields[first].focus();

    if (!navigator.onLine) return showGeneral(t('login.offline'));
    submit.disabled = true;
    submit.textContent = t('login.submitting');
    try {
      saveTokens(await api('/auth/login', { method: 'POST', body, auth: false }));
      stopTimer();
      done();
    } catch (err) {
      const rest = showErrors(err.errors);
      showGeneral(err.message, rest);
      submit.disabled = false;
      submit.textContent = t('login.submit');
    }
  }

  const modeTabs = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': t('login.modes') },
    ['password', 'code'].map((mode) =>
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(state.mode === mode),
          onclick: () => {
            if (state.mode === mode) return;
            state.mode = mode;
            view.rerender();
          },
        },
        t(mode === 'password' ? 'login.byPassword' : 'login.byCode'),
      ),
    ),
  );

  stopTimer(); // a previous render's countdown
  if (state.mode === 'code') {
    tick();
    if (state.resendAt > Date.now()) startTimer();
  }
  view.cleanup = stopTimer;

  view.className = 'login';
  view.append(
    h('h1', { tabindex: '-1' }, t('login.title')),
    h('p', { class: 'muted' }, t('login.subtitle')),
    modeTabs,
    h('form', { class: 'stack', novalidate: true, onsubmit: onSubmit }, phone, secret, general, submit),
    h('div', { class: 'footer-switch' }, languageSwitch()),
  );
}
