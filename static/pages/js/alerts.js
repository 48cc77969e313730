// Getting a person's attention for a call of their own: an audible ring (a small bundled sound,
// which they can mute), the tab title and favicon, and a browser notification when the page is
// hidden and they allowed it. The desk decides *when* (a new call, an offer); this decides *how*.

const RING_URL = new URL("../sounds/ring.wav", import.meta.url).href;
const ALERT_ICON = new URL("../img/favicon-alert.svg", import.meta.url).href;
const MUTED_KEY = "desk.alerts.muted";
const RING_FOR_MS = 30_000; // an offer rings for ROUTING_RING_SECONDS at most; never forever
const TITLE_EVERY_MS = 1000;

export class Alerts {
  constructor({ soundButton, notifyButton }) {
    this.soundButton = soundButton;
    this.notifyButton = notifyButton;
    this.baseTitle = document.title;
    this.icon = document.querySelector('link[rel="icon"]');
    this.baseIcon = this.icon ? this.icon.href : null;
    this.audio = null;
    this.active = null; // {title, until}
    this.timer = null;
    this.muted = localStorage.getItem(MUTED_KEY) === "true";
    soundButton.addEventListener("click", () => this.setMuted(!this.muted));
    notifyButton.addEventListener("click", () => this.askForNotifications());
    // Someone looking at the page has seen a new call; an offer keeps ringing until it is settled.
    const seen = () => {
      if (this.active && !this.active.untilSettled && document.visibilityState === "visible") this.stop();
    };
    window.addEventListener("focus", seen);
    document.addEventListener("visibilitychange", seen);
    this.render();
  }

  setMuted(muted) {
    this.muted = muted;
    localStorage.setItem(MUTED_KEY, String(muted));
    if (muted && this.audio) this.audio.pause();
    else if (!muted && this.active) this.ring();
    this.render();
  }

  async askForNotifications() {
    if (!("Notification" in window)) return;
    await Notification.requestPermission();
    this.render();
  }

  render() {
    const b = this.soundButton;
    b.setAttribute("aria-pressed", this.muted ? "false" : "true");
    b.querySelector(".btn-text").textContent = this.muted ? "Ring: off" : "Ring: on";
    b.title = this.muted ? "The ring for new calls is muted; press to turn it on" : "Press to mute the ring for new calls";
    const canAsk = "Notification" in window && Notification.permission === "default";
    this.notifyButton.hidden = !canAsk;
  }

  /**
   * Alert for `title` ("Incoming call from +1 202 555 0143"). `untilSettled`: keep going while the
   * person looks at the page (an offer rings until it is answered or withdrawn: call stop()).
   */
  start(title, { body = "", untilSettled = false, tag = "desk-call" } = {}) {
    this.stop();
    this.active = { title, untilSettled, until: Date.now() + RING_FOR_MS };
    this.ring();
    this.setIcon(ALERT_ICON);
    let flip = false;
    const tick = () => {
      if (!this.active || Date.now() > this.active.until) return this.stop();
      flip = !flip;
      document.title = flip ? `● ${title}` : this.baseTitle;
    };
    tick();
    this.timer = setInterval(tick, TITLE_EVERY_MS);
    this.notify(title, body, tag);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.active = null;
    if (this.audio) {
      this.audio.pause();
      this.audio.currentTime = 0;
    }
    document.title = this.baseTitle;
    this.setIcon(this.baseIcon);
  }

  ring() {
    if (this.muted) return;
    if (!this.audio) {
      this.audio = new Audio(RING_URL);
      this.audio.loop = true;
    }
    // A browser may refuse sound before the person has interacted with the page; the title,
    // the favicon and the notification still tell them.
    this.audio.play().catch(() => {});
  }

  setIcon(href) {
    if (this.icon && href && this.icon.href !== href) this.icon.href = href;
  }

  notify(title, body, tag) {
    if (document.visibilityState !== "hidden") return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const notification = new Notification(title, { body, tag, icon: ALERT_ICON });
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
    });
  }
}
