// Admission control over several resources at once (cpu slots, gpus, memory). Written here rather
// than with p-queue because p-queue admits by a single concurrency number, and a stage that needs
// 1 cpu + 1 gpu + 8 GiB must wait for all three together.
export interface Demand {
  readonly cpu: number;
  readonly gpu: number;
  readonly memoryMb: number;
}

export class ResourcePool {
  private free: { cpu: number; gpu: number; memoryMb: number };
  private readonly waiters: { need: Demand; grant: () => void }[] = [];

  constructor(private readonly capacity: Demand) {
    this.free = { ...capacity };
  }

  /** Resolves with a release function once the demand (clamped to capacity) fits. */
  async acquire(demand: Demand): Promise<() => void> {
    // A demand above capacity would wait forever; it runs alone-ish instead.
    const need: Demand = {
      cpu: Math.min(demand.cpu, this.capacity.cpu),
      gpu: Math.min(demand.gpu, this.capacity.gpu),
      memoryMb: Math.min(demand.memoryMb, this.capacity.memoryMb),
    };
    if (this.waiters.length === 0 && this.fits(need)) this.take(need);
    else await new Promise<void>((grant) => this.waiters.push({ need, grant }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.free.cpu += need.cpu;
      this.free.gpu += need.gpu;
      this.free.memoryMb += need.memoryMb;
      this.drain();
    };
  }

  private fits(n: Demand): boolean {
    return n.cpu <= this.free.cpu && n.gpu <= this.free.gpu && n.memoryMb <= this.free.memoryMb;
  }

  private take(n: Demand): void {
    this.free.cpu -= n.cpu;
    this.free.gpu -= n.gpu;
    this.free.memoryMb -= n.memoryMb;
  }

  /** Grants waiters in order, letting a smaller later one pass a big one that does not fit yet. */
  private drain(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i];
      if (this.fits(w.need)) {
        this.take(w.need);
        this.waiters.splice(i, 1);
        w.grant();
      } else i++;
    }
  }
}
