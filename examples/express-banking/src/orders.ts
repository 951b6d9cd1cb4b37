// Processing an order: fetch it, then reserve stock, charge and book shipping in parallel, then
// finalise. The shipping partner is slow at times; past its deadline the whole order fails.

export interface Order {
  id: string;
  item: string;
  quantity: number;
  total: number;
  status: 'new' | 'completed' | 'failed';
}

export interface Partners {
  /** How long each partner takes to answer, in ms. */
  inventoryMs: number;
  paymentMs: number;
  shippingMs: number;
  /** How long processOrder waits for shipping before giving up. */
  shippingTimeoutMs: number;
}

export const DEFAULT_PARTNERS: Partners = {
  inventoryMs: 5,
  paymentMs: 8,
  shippingMs: 10,
  shippingTimeoutMs: 100,
};

export class ShippingTimeout extends Error {
  readonly status = 504;
  constructor(orderId: string, ms: number) {
    super(`shipping did not answer for order '${orderId}' within ${ms} ms`);
  }
}

function answerAfter<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(resolve, ms, value));
}

export class OrderService {
  readonly orders = new Map<string, Order>();
  partners: Partners;

  constructor(partners: Partners = DEFAULT_PARTNERS) {
    this.partners = { ...partners };
  }

  async fetchOrder(id: string): Promise<Order> {
    await answerAfter(2, null);
    let order = this.orders.get(id);
    if (order === undefined) {
      order = { id, item: 'lamp', quantity: 1, total: 40, status: 'new' };
      this.orders.set(id, order);
    }
    return order;
  }

  async reserveInventory(order: Order): Promise<string> {
    return answerAfter(this.partners.inventoryMs, `stock-${order.id}`);
  }

  async chargePayment(order: Order): Promise<string> {
    return answerAfter(this.partners.paymentMs, `payment-${order.id}`);
  }

  async scheduleShipping(order: Order, shippingMs = this.partners.shippingMs): Promise<string> {
    const { shippingTimeoutMs } = this.partners;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ShippingTimeout(order.id, shippingTimeoutMs)), shippingTimeoutMs);
    });
    try {
      return await Promise.race([answerAfter(shippingMs, `shipment-${order.id}`), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async finalizeOrder(order: Order): Promise<Order> {
    await answerAfter(2, null);
    order.status = 'completed';
    return order;
  }

  /** `shippingMs` stands in for a shipping partner that is slow today. */
  async processOrder(id: string, shippingMs?: number): Promise<Order> {
    const order = await this.fetchOrder(id);
    try {
      await Promise.all([
        this.reserveInventory(order),
        this.chargePayment(order),
        this.scheduleShipping(order, shippingMs),
      ]);
    } catch (error) {
      order.status = 'failed';
      throw error;
    }
    return this.finalizeOrder(order);
  }
}
