/**
 * glm-magics: puts the code that `%%glm --code` extracts into new notebook cells.
 *
 * Two ways in, neither needing the kernel to wait on its busy shell channel
 * (the kernel side is `glm_magics/notebook/bridge.py` and `insertion.py`):
 *
 * 1. **A cell's own output.** Every execute request this page sends is tagged
 *    (`metadata.glm_magics`), so the kernel knows while the cell runs that this
 *    page listens. It then puts the cells to insert in an output of the asking
 *    cell (MIME type `application/vnd.glm-magics.insert+json`). This plugin
 *    watches the notebook model's outputs and inserts them directly below that
 *    cell, unexecuted, once: only when the output names this page's kernel
 *    connection and is new, so neither a second view of the notebook, nor
 *    re-opening it, nor another browser inserts them again. Run All, Run All
 *    after a kernel restart and runs after a page reload behave like cells run
 *    one by one, because nothing depends on a handshake.
 * 2. **The `glm_magics` comm**, for widget callbacks (the control panel's Insert
 *    code button), which have no cell output. The kernel opens the comm and says
 *    `hello`; this plugin answers `ready`; later `insert` messages arrive on
 *    iopub. After a page reload `comm_info_request` finds the kernel's comm and
 *    the plugin says `ready` on it again.
 *
 * It also gives the control panel (`%glm panel`) Shift+Enter in its prompt box,
 * which ipywidgets' text area cannot do on its own.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import type { ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { IOutputModel } from '@jupyterlab/rendermime';
import { Kernel, KernelMessage } from '@jupyterlab/services';

const TARGET = 'glm_magics';
const VERSION = 2;
const INSERT_MIME = 'application/vnd.glm-magics.insert+json';
const GENERATED_CLASS = 'glm-magics-generated';

type Frontend = 'jupyterlab' | 'notebook';

interface IInsertCell {
  source: string;
  metadata?: Record<string, unknown>;
}

interface IInsertMessage {
  type: 'insert';
  after: string | null;
  cells: IInsertCell[];
  request: number;
  client?: string;
}

/** What an insertion output carries. */
interface ICarriedCells {
  version: number;
  id: string;
  client: string;
  cells: IInsertCell[];
}

type Reply = { [key: string]: string | number | boolean | string[] | null };

function areCells(cells: unknown): cells is IInsertCell[] {
  return (
    Array.isArray(cells) &&
    cells.every(
      cell =>
        typeof cell === 'object' &&
        cell !== null &&
        typeof (cell as Partial<IInsertCell>).source === 'string'
    )
  );
}

function isInsert(data: unknown): data is IInsertMessage {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const message = data as Partial<IInsertMessage>;
  return message.type === 'insert' && areCells(message.cells);
}

function isCarried(data: unknown): data is ICarriedCells {
  if (typeof data !== 'object' || data === null) {
    return false;
  }
  const carried = data as Partial<ICarriedCells>;
  return (
    carried.version === VERSION &&
    typeof carried.id === 'string' &&
    typeof carried.client === 'string' &&
    areCells(carried.cells)
  );
}

function isGenerated(metadata: unknown): boolean {
  return typeof metadata === 'object' && metadata !== null && TARGET in metadata;
}

/** Adds the marker class to every cell of `panel` that the kernel generated. */
function markGeneratedCells(panel: NotebookPanel): void {
  for (const widget of panel.content.widgets) {
    widget.toggleClass(GENERATED_CLASS, isGenerated(widget.model.sharedModel.metadata));
  }
}

/** Inserts one unexecuted code cell per entry of `cells` at `index`; returns their ids. */
function insertCells(model: INotebookModel, index: number, cells: IInsertCell[]): string[] {
  const added = model.sharedModel.insertCells(
    index,
    cells.map(cell => ({
      cell_type: 'code',
      source: cell.source,
      metadata: (cell.metadata ?? {}) as Record<string, any>,
      outputs: [],
      execution_count: null
    }))
  );
  return added.map(cell => cell.id);
}

/**
 * Tags every execute request `kernel` sends, so the kernel knows this page inserts
 * cells (the request's metadata is the only thing a running cell can read at once).
 */
function tagRequests(kernel: Kernel.IKernelConnection, frontend: Frontend): void {
  if (tagged.has(kernel)) {
    return;
  }
  tagged.add(kernel);
  const send = kernel.requestExecute.bind(kernel);
  kernel.requestExecute = (content, disposeOnDone, metadata) =>
    send(content, disposeOnDone, {
      ...metadata,
      [TARGET]: { version: VERSION, frontend }
    });
}
const tagged = new WeakSet<Kernel.IKernelConnection>();

/** Acts on insertion outputs (way 1 above), once per output, in the page that asked. */
class OutputInserter {
  constructor(private readonly tracker: INotebookTracker) {}

  /** Watches the outputs of every code cell of `panel`'s notebook, now and later. */
  follow(panel: NotebookPanel): void {
    const model = panel.content.model;
    if (!model || this.models.has(model)) {
      return;
    }
    this.models.add(model);
    const session = panel.sessionContext;
    const watch = (cell: ICellModel) => {
      if (cell.type !== 'code' || this.cells.has(cell)) {
        return;
      }
      this.cells.add(cell);
      (cell as ICodeCellModel).outputs.changed.connect((_, change) => {
        if (change.type !== 'add' && change.type !== 'set') {
          return;
        }
        for (const output of change.newValues) {
          this.consider(model, cell, output, session.session?.kernel?.clientId);
        }
      });
    };
    for (const cell of model.cells) {
      watch(cell);
    }
    model.cells.changed.connect((_, change) => {
      if (change.type === 'add' || change.type === 'set') {
        change.newValues.forEach(watch);
      }
    });
  }

  private consider(
    model: INotebookModel,
    cell: ICellModel,
    output: IOutputModel,
    clientId: string | undefined
  ): void {
    const carried = output.data[INSERT_MIME];
    if (!isCarried(carried) || carried.client !== clientId || this.handled.has(carried.id)) {
      return; // not ours, another page's (or an old one's), or already inserted
    }
    this.handled.add(carried.id);
    // Insert after the output has landed, outside the change being reported.
    setTimeout(() => {
      const index = model.sharedModel.cells.findIndex(shared => shared.id === cell.id);
      if (index < 0) {
        console.warn('glm-magics: the asking cell was deleted; no cells inserted');
        return;
      }
      insertCells(model, index + 1, carried.cells);
      this.tracker
        .filter(panel => panel.content.model === model)
        .forEach(markGeneratedCells);
    }, 0);
  }

  private readonly models = new WeakSet<INotebookModel>();
  private readonly cells = new WeakSet<ICellModel>();
  private readonly handled = new Set<string>();
}

/** Answers the kernel's comm (way 2 above): cells asked for by widget callbacks. */
class CommInserter {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly frontend: Frontend
  ) {}

  /** Registers the comm target on `kernel` (again after a change) and re-attaches. */
  watch(kernel: Kernel.IKernelConnection | null | undefined): void {
    if (!kernel || kernel.isDisposed) {
      return;
    }
    tagRequests(kernel, this.frontend);
    // The registry survives restarts; registering again only replaces the callback.
    kernel.registerCommTarget(TARGET, (comm, msg) => this.onOpen(kernel, comm, msg));
    if (this.watched.has(kernel)) {
      return;
    }
    this.watched.add(kernel);
    void this.reattach(kernel);
    kernel.connectionStatusChanged.connect((_, status) => {
      if (status === 'connected') {
        void this.reattach(kernel);
      }
    });
  }

  private onOpen(
    kernel: Kernel.IKernelConnection,
    comm: Kernel.IComm,
    msg: KernelMessage.ICommOpenMsg
  ): void {
    this.attach(kernel, comm);
    const data = msg.content.data as { type?: unknown };
    if (data?.type === 'hello') {
      this.sendReady(kernel, comm);
    }
  }

  /** Finds comms the kernel opened before this page loaded, and says ready on them. */
  private async reattach(kernel: Kernel.IKernelConnection): Promise<void> {
    try {
      const reply = await kernel.requestCommInfo({ target_name: TARGET });
      if (reply.content.status !== 'ok' || kernel.isDisposed) {
        return;
      }
      for (const [commId, info] of Object.entries(reply.content.comms)) {
        if (info.target_name !== TARGET || kernel.hasComm(commId)) {
          continue;
        }
        const comm = kernel.createComm(TARGET, commId);
        this.attach(kernel, comm);
        this.sendReady(kernel, comm);
      }
    } catch (reason) {
      console.debug('glm-magics: no comm info from the kernel', reason);
    }
  }

  private attach(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.onMsg = msg => {
      const data = msg.content.data;
      if (!isInsert(data)) {
        return;
      }
      if (data.client && data.client !== kernel.clientId) {
        return; // addressed to another browser connected to the same kernel
      }
      let reply: Reply;
      try {
        reply = this.insert(kernel, data);
      } catch (reason) {
        reply = { type: 'error', request: data.request, message: String(reason) };
      }
      if (!comm.isDisposed) {
        comm.send(reply);
      }
    };
  }

  private sendReady(kernel: Kernel.IKernelConnection, comm: Kernel.IComm): void {
    comm.send({
      type: 'ready',
      version: VERSION,
      frontend: this.frontend,
      client: kernel.clientId
    });
  }

  private panelsOf(kernel: Kernel.IKernelConnection): NotebookPanel[] {
    return this.tracker.filter(
      panel => panel.sessionContext.session?.kernel?.id === kernel.id && !!panel.content.model
    );
  }

  private insert(kernel: Kernel.IKernelConnection, message: IInsertMessage): Reply {
    const panels = this.panelsOf(kernel);
    if (panels.length === 0) {
      return {
        type: 'error',
        request: message.request,
        message: 'No open notebook uses this kernel.'
      };
    }
    let target: NotebookPanel | undefined;
    let index = -1;
    if (message.after) {
      for (const panel of panels) {
        index = panel.content.model!.sharedModel.cells.findIndex(
          cell => cell.id === message.after
        );
        if (index >= 0) {
          target = panel;
          break;
        }
      }
    }
    let anchor = 'cell';
    if (!target) {
      const current = this.tracker.currentWidget;
      target = current && panels.includes(current) ? current : panels[0];
      index = target.content.activeCellIndex;
      anchor = 'active-cell';
    }
    const ids = insertCells(target.content.model!, index + 1, message.cells);
    markGeneratedCells(target);
    const reply: Reply = {
      type: 'inserted',
      request: message.request,
      count: ids.length,
      anchor,
      cell_ids: ids
    };
    if (anchor !== 'cell') {
      reply.message =
        message.after === null
          ? 'No anchor cell was given; inserted below the active cell.'
          : `Cell ${message.after} was not found; inserted below the active cell.`;
    }
    return reply;
  }

  private readonly watched = new WeakSet<Kernel.IKernelConnection>();
}

/**
 * Shift+Enter in the control panel's prompt box presses the panel's Send button.
 *
 * Listens on `window` in the capture phase, before ipywidgets' own handler stops
 * the event; the notebook ignores the keys because the focus is in a text field.
 */
function sendOnShiftEnter(event: KeyboardEvent): void {
  if (event.key !== 'Enter' || !event.shiftKey || event.isComposing) {
    return;
  }
  const target = event.target;
  if (!(target instanceof HTMLTextAreaElement) || !target.closest('.glm-panel-prompt')) {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
  const send = target.closest('.glm-panel')?.querySelector('.glm-panel-send');
  if (send instanceof HTMLButtonElement && !send.disabled) {
    send.click();
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-magics:plugin',
  description: 'Inserts code generated by %%glm --code as new, unexecuted cells.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    const frontend: Frontend = /notebook/i.test(app.name) ? 'notebook' : 'jupyterlab';
    const comms = new CommInserter(tracker, frontend);
    const outputs = new OutputInserter(tracker);
    const follow = (panel: NotebookPanel) => {
      const context = panel.sessionContext;
      context.kernelChanged.connect((_, change) => comms.watch(change.newValue));
      comms.watch(context.session?.kernel);
      outputs.follow(panel);
      panel.content.modelChanged.connect(() => outputs.follow(panel));
      void context.ready.then(() => {
        comms.watch(context.session?.kernel);
        outputs.follow(panel);
        markGeneratedCells(panel);
      });
    };
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
    window.addEventListener('keydown', sendOnShiftEnter, true);
  }
};

export default plugin;
